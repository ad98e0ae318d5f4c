//! `kestrel_dex::universal::decode_universal` on arbitrary calldata. The first byte picks the
//! router version; the rest is the calldata.

#![no_main]

use kestrel_dex::route::{MAX_LEGS, MAX_V3_HOPS, Route, SwapLeg};
use kestrel_dex::router::MAX_PATH;
use kestrel_dex::universal::{UrVersion, decode_universal};
use kestrel_types::U256;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, calldata)) = data.split_first() else {
        return;
    };
    let version = match pick % 3 {
        0 => UrVersion::V1,
        1 => UrVersion::V2,
        _ => UrVersion::V2_1,
    };
    let Ok(decoded) = decode_universal(calldata, U256::ZERO, version) else {
        return;
    };
    assert!(
        (1..=MAX_LEGS).contains(&decoded.len()),
        "Invariant: an accepted plan has 1 to MAX_LEGS legs"
    );
    for leg in decoded.legs() {
        match leg {
            SwapLeg::Swap(swap) => match swap.route {
                Route::V2(path) => assert!((2..=MAX_PATH).contains(&path.len())),
                Route::V3(route) => assert!((1..=MAX_V3_HOPS).contains(&route.hops().count())),
            },
            SwapLeg::V4 { input, .. } => {
                assert!(
                    version != UrVersion::V1,
                    "Invariant: v1 routers have no V4_SWAP"
                );
                assert!(input.len() <= calldata.len());
            }
        }
    }
});
