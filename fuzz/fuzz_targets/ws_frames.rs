//! The server's WebSocket reader for chat clients: tungstenite as a server with the chat's
//! configuration (`chat::session::frame_config`: 4 KiB frames and messages), reading frames from
//! bytes split into reads at fuzzer-chosen points, masked or not, fragmented, control frames
//! and closes included; each text message then goes through `inbound::parse` and `text::clean`
//! as the session's reader does. The async stream the server runs wraps this same reader.
#![no_main]

mod common;

use bookmygig_api::ClientMessage;
use bookmygig_server::chat::session::frame_config;
use bookmygig_server::chat::{inbound, text};
use libfuzzer_sys::fuzz_target;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocket};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, stream)) = data.split_first() else {
        return;
    };
    let socket = common::Socket::new(common::reads(mode, stream));
    let mut ws = WebSocket::from_raw_socket(socket, Role::Server, Some(frame_config()));
    // Every frame takes bytes, so this ends; the bound is a guard against a reader that
    // returned messages without consuming input.
    for _ in 0..=stream.len() {
        match ws.read() {
            Ok(Message::Text(frame)) => {
                if let Ok(ClientMessage::Say { text: said }) = inbound::parse(frame.as_str()) {
                    let _ = text::clean(&said);
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
});
