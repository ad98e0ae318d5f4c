//! `kestrel_dex::router::decode_router02` on arbitrary calldata. The first 32 bytes, when
//! present, are the transaction value.

#![no_main]

use kestrel_dex::router::{MAX_PATH, decode_router02};
use kestrel_types::U256;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (value, calldata) = split_value(data);
    if let Ok(intent) = decode_router02(calldata, value) {
        let len = intent.path.len();
        assert!(
            (2..=MAX_PATH).contains(&len),
            "Invariant: a decoded path has 2 to MAX_PATH tokens"
        );
        assert_eq!(intent.path.iter().count(), len);
        assert_eq!(intent.path.first(), intent.path.get(0));
        assert_eq!(intent.path.last(), intent.path.get(len - 1));
    }
});

fn split_value(data: &[u8]) -> (U256, &[u8]) {
    match data.split_first_chunk::<32>() {
        Some((value, rest)) => (U256::from_be_bytes(*value), rest),
        None => (U256::ZERO, data),
    }
}
