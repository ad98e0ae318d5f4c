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
