//! What the client takes from the chat server: the whole input as one text frame's JSON
//! (`ServerMessage`, which must survive a round trip), and, from the second byte on, a stream
//! of server frames read by tungstenite as a client (reads split at fuzzer-chosen points by the
//! first byte), each text frame decoded as `ChatSocket::recv` does.
#![no_main]

mod common;

use bookmygig_api::ServerMessage;
use libfuzzer_sys::fuzz_target;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocket, WebSocketConfig};

/// The client's ceiling on a server frame or message (`chat::MAX_SERVER_FRAME`).
const MAX_SERVER_FRAME: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = serde_json::from_slice::<ServerMessage>(data) {
        let json = serde_json::to_string(&message).expect("a message serialises");
        let again: ServerMessage = serde_json::from_str(&json).expect("what we write parses");
        assert_eq!(again, message, "ServerMessage round trip");
    }
    let Some((&mode, stream)) = data.split_first() else {
        return;
    };
    let config = WebSocketConfig::default()
        .max_frame_size(Some(MAX_SERVER_FRAME))
        .max_message_size(Some(MAX_SERVER_FRAME));
    let socket = common::Socket::new(common::reads(mode, stream));
    let mut ws = WebSocket::from_raw_socket(socket, Role::Client, Some(config));
    for _ in 0..=stream.len() {
        match ws.read() {
            Ok(Message::Text(frame)) => {
                let _ = serde_json::from_str::<ServerMessage>(frame.as_str());
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
});
