//! Test harness: the shared server harness of `bookmygig_testkit::server` (a real server on
//! port 0, in-process or the real binary as a child process, real redis-server, the typed
//! client and a real chat socket), plus what only the server's tests use: several nodes, an
//! FLV viewer, log capture and raw RTMP. Nothing sleeps: readiness is an awaited event.
#![allow(dead_code)] // Each test binary uses a different part of the harness.
#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.
#![allow(unused_imports)] // Each test binary uses a different part of the harness.

pub use bookmygig_testkit::server::{
    Backend, CHAT_PATIENCE, ChatSocket, ServerData, ServerProcess, Serving, TestServer, TokenIn,
    live_gig_form, new_gig, sign_up_through,
};
pub use bookmygig_testkit::{FfmpegPublisher, require_tool};

pub mod cluster;
pub mod flv_viewer;
pub mod logs;
pub mod rtmp_raw;
