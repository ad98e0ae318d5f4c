//! Shared helpers for the V3 tests: 512-bit references, random U256 strategies, and pools
//! built from positions.

use alloy_primitives::{Address, U256, U512, address};
use kestrel_dex::v3::tick_math::get_sqrt_ratio_at_tick;
use kestrel_dex::v3::{Slot0, V3Pool, V3PoolKey};
use proptest::prelude::*;

pub const TOKEN0: Address = address!("1000000000000000000000000000000000000001");
pub const TOKEN1: Address = address!("2000000000000000000000000000000000000002");

/// `2^96`.
pub fn q96() -> U256 {
    U256::ONE << 96
}

pub fn wide(x: U256) -> U512 {
    U512::from(x)
}

/// `floor(n / d)` and `ceil(n / d)` in 512 bits, as `U256` when they fit.
pub fn floor_ceil(n: U512, d: U512) -> (Option<U256>, Option<U256>) {
    let (q, r) = n.div_rem(d);
    let ceil = if r.is_zero() { q } else { q + U512::ONE };
    let fit = |x: U512| (x <= U512::from(U256::MAX)).then(|| x.to::<U256>());
    (fit(q), fit(ceil))
}

/// Any `U256`, spread over all magnitudes: a random value cut to a random bit length.
pub fn any_u256_bits() -> impl Strategy<Value = U256> {
    (any::<[u64; 4]>(), 0usize..=256).prop_map(|(limbs, bits)| {
        let x = U256::from_limbs(limbs);
        if bits == 0 {
            U256::ZERO
        } else {
            x >> (256 - bits)
        }
    })
}

/// A pool at `start_tick` (its price a quarter of the way into the tick), built from nothing
/// by minting `positions` of `(tick_lower, tick_upper, liquidity)`.
pub fn pool_with(
    tick_spacing: i32,
    fee_pips: u32,
    start_tick: i32,
    positions: &[(i32, i32, u128)],
) -> V3Pool {
    let low = get_sqrt_ratio_at_tick(start_tick).unwrap();
    let high = get_sqrt_ratio_at_tick(start_tick + 1).unwrap();
    let price = low + (high - low) / U256::from(4);
    let key = V3PoolKey {
        address: address!("3000000000000000000000000000000000000003"),
        token0: TOKEN0,
        token1: TOKEN1,
        fee_pips,
        tick_spacing,
    };
    let slot0 = Slot0 {
        sqrt_price_x96: price,
        tick: start_tick,
        fee_protocol: 0,
    };
    let mut pool = V3Pool::new(key, slot0, 0, Vec::new()).unwrap();
    for &(lower, upper, liquidity) in positions {
        let delta = i128::try_from(liquidity).unwrap();
        pool = pool.with_position_change(lower, upper, delta).unwrap();
    }
    pool
}

/// A random pool: a fee tier with its spacing (spacing 1, whose long swaps run out of steps,
/// only with `spacing_one`), a start tick, and up to 15 positions of random width and
/// liquidity around it.
pub fn random_pool(spacing_one: bool) -> impl Strategy<Value = V3Pool> {
    let position = (-300i32..300, 1i32..120, 1u128..(1u128 << 100));
    let tiers: Vec<(i32, u32)> = if spacing_one {
        vec![(1, 100)]
    } else {
        Vec::new()
    }
    .into_iter()
    .chain([(10, 500), (60, 3000), (200, 10_000)])
    .collect();
    (
        proptest::sample::select(tiers),
        -15_000i32..15_000,
        proptest::collection::vec(position, 1..16),
    )
        .prop_map(|((spacing, fee), start, positions)| {
            let ranges: Vec<(i32, i32, u128)> = positions
                .into_iter()
                .map(|(lower, width, l)| (lower * spacing, (lower + width) * spacing, l))
                .collect();
            pool_with(spacing, fee, start, &ranges)
        })
}
