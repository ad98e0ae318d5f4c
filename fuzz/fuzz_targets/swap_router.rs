//! `kestrel_dex::router_v3::decode_swap_router` (V3 SwapRouter and SwapRouter02) on arbitrary
//! calldata, checking the invariants of every decoded leg.

#![no_main]

use kestrel_dex::route::{DecodedSwaps, MAX_LEGS, MAX_V3_HOPS, Route, SwapLeg};
use kestrel_dex::router::MAX_PATH;
use kestrel_dex::router_v3::decode_swap_router;
use kestrel_types::U256;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = decode_swap_router(data, U256::ZERO) {
        check(&decoded);
    }
});

fn check(decoded: &DecodedSwaps<'_>) {
    assert!(
        (1..=MAX_LEGS).contains(&decoded.len()),
        "Invariant: an accepted transaction has 1 to MAX_LEGS legs"
    );
    assert_eq!(decoded.legs().count(), decoded.len());
    for leg in decoded.legs() {
        let SwapLeg::Swap(swap) = leg else {
            panic!("Invariant: the swap routers have no V4 legs");
        };
        match swap.route {
            Route::V2(path) => assert!((2..=MAX_PATH).contains(&path.len())),
            Route::V3(route) => {
                let hops: Vec<_> = route.hops().collect();
                assert!((1..=MAX_V3_HOPS).contains(&hops.len()));
                assert_eq!(hops.len(), route.hop_count());
                for pair in hops.windows(2) {
                    assert_eq!(pair[0].token_out, pair[1].token_in, "Invariant: hops chain");
                }
                assert!(
                    hops.iter().all(|h| h.fee < 1 << 24),
                    "Invariant: fees are uint24"
                );
            }
        }
        assert!(swap.token_in().is_some() && swap.token_out().is_some());
    }
}
