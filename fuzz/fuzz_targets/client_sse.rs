//! The client's server-sent-events parser (the monetization channel), fed bytes split into
//! reads at fuzzer-chosen points; each event's data is then decoded as the client does.
#![no_main]

mod common;

use bookmygig_api::MonetizationEvent;
use bookmygig_client::monetization::SseParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, stream)) = data.split_first() else {
        return;
    };
    let mut parser = SseParser::default();
    for read in common::reads(mode, stream) {
        for event in parser.push(read) {
            let _ = serde_json::from_str::<MonetizationEvent>(&event.data);
        }
    }
});
