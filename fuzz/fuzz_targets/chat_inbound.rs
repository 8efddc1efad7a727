//! What a chat client sends in a text frame: `chat::inbound::parse` (JSON into a
//! `ClientMessage`, or the precise refusal), then `chat::text::clean` on a `say`'s text, as the
//! session's reader does.
#![no_main]

use bookmygig_api::ClientMessage;
use bookmygig_server::chat::{inbound, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Text frames are UTF-8 (tungstenite refuses others before the parser sees them).
    let Ok(frame) = std::str::from_utf8(data) else {
        return;
    };
    match inbound::parse(frame) {
        Ok(message) => {
            if let ClientMessage::Say { text: said } = &message {
                if let Ok(clean) = text::clean(said) {
                    assert!(!clean.is_empty(), "a cleaned message is never empty");
                }
            }
            // What parses re-serialises into the same message.
            let json = serde_json::to_string(&message).expect("a message serialises");
            assert_eq!(inbound::parse(&json).ok(), Some(message));
        }
        Err(refusal) => {
            let _ = refusal.to_message();
        }
    }
});
