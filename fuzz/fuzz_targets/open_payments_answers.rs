//! What a wallet answers the server's Open Payments client (a stranger's server: wallet
//! addresses come from creators and viewers): the bytes are read as each document the client
//! decodes, and every amount in them is converted to ledger micro-units, as the server does.
#![no_main]

use bookmygig_openpayments::types::{
    ContinueResponse, GrantResponse, IncomingPayment, OutgoingPayment, RotatedToken,
    WalletAddress,
};
use bookmygig_openpayments::{Amount, MAX_RESPONSE_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The client reads no more than this of an answer.
    if data.len() > MAX_RESPONSE_BYTES {
        return;
    }
    if let Ok(address) = serde_json::from_slice::<WalletAddress>(data) {
        let _ = Amount::from_micros(1_000_000, &address.asset_code, address.asset_scale);
    }
    let _ = serde_json::from_slice::<GrantResponse>(data);
    let _ = serde_json::from_slice::<ContinueResponse>(data);
    let _ = serde_json::from_slice::<RotatedToken>(data);
    if let Ok(incoming) = serde_json::from_slice::<IncomingPayment>(data) {
        let _ = incoming.received_amount.to_micros();
        if let Some(amount) = incoming.incoming_amount {
            let _ = amount.to_micros();
        }
    }
    if let Ok(outgoing) = serde_json::from_slice::<OutgoingPayment>(data) {
        let _ = outgoing.sent_amount.to_micros();
        let _ = outgoing.debit_amount.to_micros();
    }
});
