//! Quoting on a V3 snapshot allocates nothing, proven with the workspace's counting global
//! allocator (`kestrel_bus::CountingAlloc`, per-thread counts so parallel tests do not
//! disturb each other).

use alloy_primitives::{I256, U256};
use kestrel_bus::thread_allocations as allocations;
use kestrel_dex::v3::default_price_limit;

use crate::v3_support::pool_with;

#[global_allocator]
static GLOBAL: kestrel_bus::CountingAlloc = kestrel_bus::CountingAlloc;

#[test]
fn the_counter_sees_allocations() {
    let before = allocations();
    let v: Vec<u64> = Vec::with_capacity(16);
    std::hint::black_box(&v);
    assert!(allocations() > before);
}

#[test]
fn quotes_do_not_allocate() {
    // Many initialized ticks across several bitmap words, so quotes take many steps.
    let positions: Vec<(i32, i32, u128)> = (0..40)
        .map(|i| (-12_000 + i * 300, 600 + i * 300, 10u128.pow(18) + i as u128))
        .collect();
    let pool = pool_with(60, 3000, 7, &positions);
    let amounts = [1u128, 1_000, 10u128.pow(18), 10u128.pow(21), 10u128.pow(26)];
    let before = allocations();
    let mut steps = 0u64;
    for amount in amounts {
        for zero_for_one in [true, false] {
            let limit = default_price_limit(zero_for_one);
            let exact_in = I256::try_from(amount).unwrap();
            let a = pool.quote(zero_for_one, exact_in, limit).unwrap();
            let b = pool.quote(zero_for_one, -exact_in, limit).unwrap();
            let c = pool.quote_exact_in(zero_for_one, U256::from(amount));
            let d = pool.quote_exact_out(zero_for_one, U256::from(amount));
            steps += u64::from(a.steps + b.steps);
            let _ = std::hint::black_box((c, d));
        }
    }
    assert_eq!(allocations() - before, 0, "quotes allocated");
    assert!(
        steps > 100,
        "the quotes walked few steps ({steps}): the test proves little"
    );
}
